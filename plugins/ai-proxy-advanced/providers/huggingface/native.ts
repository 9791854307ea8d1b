/**
 * `llm_format: huggingface`: the client speaks Text Generation Inference's API (`POST /generate`,
 * `POST /generate_stream`, `{inputs, parameters}`; the huggingface_hub client's text_generation) and the body
 * goes to a Hugging Face target as sent. The stream is asked for by the path (`/generate_stream`) or the body
 * (`stream: true`); the model is the config's (TGI bodies name none). The upstream is the driver's base URL
 * (model.options.upstream_url, else the Inference API model URL) with `/generate` or `/generate_stream` at the
 * end of its path (huggingface/index.ts hfUrl).
 */
import type { NativeFormat } from '../provider';
import { jsonHeaders } from '../translator-kit/request';
import { nativeText } from '../translator-kit/native';
import { hfUrl } from './index';

const STREAM_PATH = /\/generate_stream\/?$/;

export const huggingfaceNative: NativeFormat = {
  answersAs: 'llm/v1/completions',
  read(body, clientPath) {
    const inputs = nativeText(body['inputs']);
    return {
      model: typeof body['model'] === 'string' ? body['model'] : undefined,
      stream: STREAM_PATH.test(clientPath) || body['stream'] === true,
      messages: inputs === '' ? [] : [{ role: 'user', content: inputs }],
    };
  },
  toRequest(body, ctx) {
    const op = ctx.stream ? '/generate_stream' : '/generate';
    return { method: 'POST', url: hfUrl(ctx, op), headers: jsonHeaders(), body };
  },
};
