/**
 * Plain text: documents separated by blank lines. Splitting at blank lines rather than at every
 * line keeps paragraphs whole, so a corpus hard-wrapped at 80 columns (Project Gutenberg, man
 * pages) still gives paragraph-sized prompts; in windows mode the documents are joined again, so
 * a long text is usable whatever its layout.
 */
import { FileError } from '../errors.js';

/** Documents in file order, each trimmed; line breaks inside a document are kept. */
export function splitDocuments(text: string): string[] {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((document) => document.trim())
    .filter((document) => document !== '');
}

export function parsePlainText(file: string, text: string): string[] {
  const documents = splitDocuments(text);
  if (documents.length === 0) throw new FileError(file, 'no text: the file is empty or blank');
  return documents;
}
