/** The README.md model card written into each built model folder. */

export interface CardInfo {
  name: string;
  source: string;
  words: number;
  dims: number;
  weighting: string;
  rebuildCommand: string;
}

export function modelCard(info: CardInfo): string {
  return `---
license: pddl
library_name: transformers.js
pipeline_tag: feature-extraction
tags:
  - sentence-similarity
  - glove
  - bag-of-words
---

# ${info.name}

A small, real sentence-embedding model for ModelMora's demo and tests. **It is a bag-of-words
model, not a transformer**: each token is looked up in a table of GloVe word vectors and the
sentence vector is their mean. There is no attention and no word order ("dog bites man" and
"man bites dog" get the same vector). It is shaped like a BERT encoder so that standard
tooling runs it unchanged.

- Vocabulary: ${info.words} lowercase words (the most frequent ones, plus a fixed list of
  everyday words) and the special tokens [PAD] [UNK] [CLS] [SEP] [MASK]; uncased WordPiece,
  no sub-word pieces, so an unknown word becomes [UNK] and contributes nothing.
- Output: \`last_hidden_state\` float32 [batch, sequence, ${info.dims}]; special tokens and padding are zero.
- Use mean pooling over \`attention_mask\`, then L2 normalisation.
- Weights: ${info.weighting}; int8 per-row symmetric quantisation (one float32 scale per word).
  A text made only of unknown words has a zero vector (its normalisation is undefined).

## Use

\`\`\`js
import { env, pipeline } from '@huggingface/transformers';
env.allowRemoteModels = false;
const embed = await pipeline('feature-extraction', '/absolute/path/to/this/folder', { local_files_only: true });
const out = await embed(['stock markets fell sharply', 'shares dropped steeply'], { pooling: 'mean', normalize: true });
\`\`\`

The graph is \`onnx/model.onnx\` (int8 weights inside, float32 output), the file
transformers.js loads with its default dtype on Node; do not pass \`dtype: 'q8'\`, which would
look for \`onnx/model_quantized.onnx\`.

## Source and licence

- Vectors: GloVe 6B 100-d (Pennington, Socher and Manning, 2014, https://nlp.stanford.edu/projects/glove/),
  as shipped on npm in ${info.source} (package MIT, copyright GRAYPE Systems; the GloVe data
  is under the Open Data Commons Public Domain Dedication and License, PDDL 1.0).
- Weighting: SIF, Arora, Liang and Ma, "A Simple but Tough-to-Beat Baseline for Sentence
  Embeddings", ICLR 2017, with word probabilities estimated from frequency rank (Zipf).

## How it was built

Deterministically (same input, same bytes), by ModelMora's \`scripts/build-glove-model.ts\`:

\`\`\`
${info.rebuildCommand}
\`\`\`
`;
}
