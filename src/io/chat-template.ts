/**
 * A model's chat template (tokenizer_config.json `chat_template`, or chat_template.jinja beside
 * it, as transformers reads them) rendered with @huggingface/jinja for one user message, the way
 * transformers' apply_chat_template(..., add_generation_prompt=True) renders it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Template } from '@huggingface/jinja';
import { FileError } from '../errors.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

type Json = Record<string, unknown>;

const tokenText = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'object' && v !== null && typeof (v as Json).content === 'string' ? ((v as Json).content as string) : undefined;

async function readText(file: string): Promise<string | undefined> {
  return readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new FileError(file, `cannot be read (${error.code})`);
  });
}

/** The default template's source and the special-token strings templates refer to. */
async function loadTemplate(modelDir: string): Promise<{ source: string; file: string; tokens: Json }> {
  const configFile = path.join(modelDir, 'tokenizer_config.json');
  const text = await readText(configFile);
  let config: Json = {};
  if (text !== undefined) {
    try {
      config = JSON.parse(text) as Json;
    } catch (error) {
      throw new FileError(configFile, `not valid JSON (${(error as Error).message})`);
    }
  }
  const tokens: Json = {};
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) tokens[key] = tokenText(config[key]) ?? '';
  const jinjaFile = path.join(modelDir, 'chat_template.jinja');
  const fromFile = await readText(jinjaFile);
  if (fromFile !== undefined) return { source: fromFile, file: jinjaFile, tokens };
  let template = config.chat_template;
  // A list of named templates: transformers uses the one named "default".
  if (Array.isArray(template)) template = (template as Json[]).find((t) => t?.name === 'default')?.template;
  if (typeof template !== 'string') throw new FileError(configFile, 'has no chat_template (and there is no chat_template.jinja): --chat needs one');
  return { source: template, file: configFile, tokens };
}

export async function renderChat(modelDir: string, messages: readonly ChatMessage[]): Promise<string> {
  const { source, file, tokens } = await loadTemplate(modelDir);
  try {
    return new Template(source).render({ ...tokens, messages, add_generation_prompt: true });
  } catch (error) {
    throw new FileError(file, `its chat template cannot be rendered: ${(error as Error).message.split('\n')[0]}`);
  }
}
