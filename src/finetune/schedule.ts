/**
 * Learning-rate schedules with linear warmup, as transformers' get_{cosine,linear,constant}_
 * schedule_with_warmup define them: the factor for optimizer step s (0-based) of `total`.
 */
export const SCHEDULES = ['cosine', 'linear', 'constant'] as const;
export type Schedule = (typeof SCHEDULES)[number];

export function lrFactor(schedule: Schedule, step: number, warmup: number, total: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  switch (schedule) {
    case 'constant':
      return 1;
    case 'linear':
      return Math.max(0, (total - step) / Math.max(1, total - warmup));
    case 'cosine': {
      const progress = (step - warmup) / Math.max(1, total - warmup);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
  }
}
