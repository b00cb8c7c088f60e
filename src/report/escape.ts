/**
 * Escaping for text placed in HTML or inline SVG, content and attribute values alike. Every string
 * that comes from an input file (model paths, task and metric names, notes) goes through here.
 */

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

// C0 controls (except tab, newline, carriage return) are not allowed in XML text; inline SVG that a
// tool later extracts as a standalone .svg file would not parse with them.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

export function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char]).replace(CONTROL, '\ufffd');
}
