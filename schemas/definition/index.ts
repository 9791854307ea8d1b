/** The one config definition; everything in schemas/ is derived from PLUGIN_CONFIG. */
export * from './enums';
export { AUTH, LOGGING } from './auth';
export {
  GEMINI_OPTIONS,
  BEDROCK_OPTIONS,
  HUGGINGFACE_OPTIONS,
  COHERE_OPTIONS,
  DASHSCOPE_OPTIONS,
  DATABRICKS_OPTIONS,
  MODEL_OPTIONS,
  MODEL,
} from './model';
export { TARGET } from './target';
export { BALANCER } from './balancer';
export { EMBEDDINGS, EMBEDDINGS_AZURE_OPTIONS, EMBEDDINGS_GEMINI_OPTIONS } from './embeddings';
export { REDIS, PGVECTOR, VECTORDB } from './vectordb';
export { ACL_RULE, ACLS } from './acls';
export { PLUGIN_CONFIG } from './plugin';
