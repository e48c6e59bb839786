/**
 * The committed GloVe models (the 2k-word test fixture and the 50k-word demo model) load in
 * transformers.js offline from an absolute folder path and behave like a sentence-embedding
 * model: unit vectors of the declared size, sensible similarities, batching that does not
 * change results, results in input order.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { env, pipeline, type FeatureExtractionPipeline } from '@huggingface/transformers';

// dist/test/integration/ -> repository root
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MODELS = [
  { name: 'glove-2k fixture', dir: `${ROOT}test/fixtures/models/glove-2k` },
  { name: 'glove-demo', dir: `${ROOT}models/glove-demo` },
];

env.allowRemoteModels = false;
env.allowLocalModels = true;

const MARKETS_A = 'stock markets fell sharply';
const MARKETS_B = 'shares dropped steeply';
const KITTEN = 'a kitten sleeps on the sofa';

function cosine(a: readonly number[], b: readonly number[]): number {
  return a.reduce((s, x, i) => s + x * (b[i] ?? NaN), 0);
}

function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - (b[i] ?? NaN))), 0);
}

async function embed(extractor: FeatureExtractionPipeline, texts: string[]): Promise<number[][]> {
  const output = await extractor(texts, { pooling: 'mean', normalize: true });
  return output.tolist() as number[][];
}

for (const model of MODELS) {
  describe(model.name, () => {
    let extractor: FeatureExtractionPipeline | undefined;
    const load = async (): Promise<FeatureExtractionPipeline> => {
      assert.ok(existsSync(`${model.dir}/onnx/model.onnx`), 'model folder is committed');
      extractor ??= await pipeline('feature-extraction', model.dir, { local_files_only: true });
      return extractor;
    };

    test('gives 100-d unit vectors', async () => {
      const vectors = await embed(await load(), [MARKETS_A, KITTEN, 'hello world']);
      assert.equal(vectors.length, 3);
      for (const v of vectors) {
        assert.equal(v.length, 100);
        assert.ok(Math.abs(1 - Math.sqrt(cosine(v, v))) < 1e-5);
      }
    });

    test('rates two sentences about falling markets closer than either to a sleeping kitten', async () => {
      const [a, b, kitten] = (await embed(await load(), [MARKETS_A, MARKETS_B, KITTEN])) as [number[], number[], number[]];
      const related = cosine(a, b);
      assert.ok(related > cosine(a, kitten), `${related} vs ${cosine(a, kitten)}`);
      assert.ok(related > cosine(b, kitten), `${related} vs ${cosine(b, kitten)}`);
      // Not just an ordering: the related pair is clearly similar, the unrelated ones are not.
      assert.ok(related > 0.5, String(related));
      assert.ok(Math.abs(cosine(a, kitten)) < 0.3 && Math.abs(cosine(b, kitten)) < 0.3);
    });

    test('a padded batch equals one call per text, in input order', async () => {
      const extractor = await load();
      const texts = [KITTEN, 'dogs', MARKETS_B, 'the quick brown fox jumps over the lazy dog and the cat sat on the mat', MARKETS_A];
      const batch = await embed(extractor, texts);
      assert.equal(batch.length, texts.length);
      for (const [i, text] of texts.entries()) {
        const [single] = (await embed(extractor, [text])) as [number[]];
        assert.ok(maxAbsDiff(batch[i] as number[], single) < 1e-5, `text ${i}`);
      }
      const reversed = await embed(extractor, [...texts].reverse());
      reversed.reverse().forEach((v, i) => assert.ok(maxAbsDiff(v, batch[i] as number[]) < 1e-5, `reversed ${i}`));
    });

    test('ignores case and accents, as an uncased BERT tokenizer does', async () => {
      const [lower, upper] = (await embed(await load(), ['the cafe market', 'The CAFÉ Market'])) as [number[], number[]];
      assert.ok(maxAbsDiff(lower, upper) < 1e-6);
    });
  });
}
