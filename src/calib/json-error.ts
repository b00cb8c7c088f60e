/**
 * JSON.parse's error, made fit for a one-line message. V8 sometimes quotes the whole input
 * (`Unexpected token ',', "[1,,2]" is not valid JSON`), which for a calibration record would
 * paste the record into the message; we keep the reason and the position when it gives one.
 */

export interface JsonSyntaxError {
  /** e.g. "Unexpected token ','" or "Unexpected end of JSON input" */
  reason: string;
  /** Offset into the parsed text, when V8 says it. */
  position?: number;
}

export function parseJson(text: string): { value: unknown } | { error: JsonSyntaxError } {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    return { error: describeJsonError((error as Error).message) };
  }
}

function describeJsonError(message: string): JsonSyntaxError {
  const positioned = /^(.*?) in JSON at position (\d+)/s.exec(message);
  if (positioned) return { reason: positioned[1], position: Number(positioned[2]) };
  const quoted = /^(.*?), ".*" is not valid JSON$/s.exec(message);
  return { reason: quoted ? quoted[1] : message };
}
