/** What each tokenizer family contributes to tokenizer.json; the rest is shared (tokenizer-files.ts). */
export interface TokenizerPipeline {
  /** token -> id, as the BPE model will hold it (first-seen order; a repeated token keeps its last id). */
  vocab: Map<string, number>;
  merges: string[][];
  /** The BPE model section without vocab and merges. */
  model: Record<string, unknown>;
  normalizer: unknown;
  preTokenizer: unknown;
  decoder: unknown;
  /** Whether a token the file marks CONTROL becomes a special added token. */
  canBeSpecial(token: string): boolean;
  /**
   * The special tokens transformers' tokenizer class (GPT2Tokenizer, LlamaTokenizer) registers by
   * default, which become special wherever the vocabulary has them, whatever the file says.
   */
  classSpecialTokens: readonly string[];
  /** Whether BOS is added when the file does not say (tokenizer.ggml.add_bos_token absent). */
  defaultAddBos: boolean;
}
