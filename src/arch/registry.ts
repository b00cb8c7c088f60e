/**
 * The architecture registry: config.json `architectures[0]` -> family spec builder. Adding an
 * architecture means adding one family file and one line here.
 */
import { ConfigReader } from './config.js';
import type { Json } from './config.js';
import { LLAMA_ARCHITECTURES, llamaSpec } from './llama.js';
import { PHI_ARCHITECTURES, phiSpec } from './phi.js';
import { checkOwnership } from './ownership.js';
import { PHI3_ARCHITECTURES, phi3Spec } from './phi3.js';
import type { ArchSpec } from './spec.js';

type SpecBuilder = (c: ConfigReader, architecture: string) => ArchSpec;

const REGISTRY = new Map<string, SpecBuilder>([
  ...LLAMA_ARCHITECTURES.map((a) => [a, llamaSpec] as const),
  ...PHI_ARCHITECTURES.map((a) => [a, phiSpec] as const),
  ...PHI3_ARCHITECTURES.map((a) => [a, phi3Spec] as const),
]);

export const SUPPORTED_ARCHITECTURES: readonly string[] = [...REGISTRY.keys()];

/** Build the ArchSpec for a parsed config.json (`file` is its path, for error messages). */
export function specFromConfig(json: Json, file: string): ArchSpec {
  const c: ConfigReader = new ConfigReader(json, file);
  const archs = json.architectures;
  const architecture = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : undefined;
  if (!architecture) c.fail(`no "architectures" entry; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`);
  const build = REGISTRY.get(architecture);
  if (!build) c.fail(`architecture ${architecture} is not supported (supported: ${SUPPORTED_ARCHITECTURES.join(', ')})`);
  const spec = build(c, architecture);
  checkOwnership(spec);
  return spec;
}
