/** The report stage: input files -> one self-contained HTML page. */
export { loadReport } from './load.js';
export type { ReportData, ReportRequest } from './load.js';
export { renderReport, reportTitle } from './page.js';
