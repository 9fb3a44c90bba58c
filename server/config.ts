/**
 * The environment, parsed once. Every variable the service reads is here, with its default and the
 * names users of the original backend already have (the README's configuration table).
 */
import { z } from 'zod';
import { OPS_ENV, opsConfig } from './ops-config.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const list = z
  .string()
  .default('')
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));
const optionalUrl = z.url().transform((u) => u.replace(/\/+$/, '')).optional();

const schema = z
  .object({
    PORT: int(8000, 0).pipe(z.number().max(65535, 'must be a port number between 0 and 65535')),
    HOST: z.string().default('0.0.0.0'),
    /** Where clients and the ML server reach this backend; defaults to http://localhost:PORT. */
    FASTAPI_BASE_URL: optionalUrl,
    DATA_DIR: z.string().default('./.data'),
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
    DATABASE_POOL_SIZE: int(10, 1),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),

    HTTP_HEADERS_TIMEOUT: int(15, 1),
    HTTP_REQUEST_TIMEOUT: int(60, 1),
    HTTP_KEEP_ALIVE_TIMEOUT: int(5, 1),
    HTTP_IDLE_TIMEOUT: int(60, 1),
    HTTP_MAX_CONNECTIONS: int(1000, 1),
    UPLOAD_IDLE_TIMEOUT: int(60, 1),

    MODEL_SERVER_URL: optionalUrl,
    ml_api_server_url: optionalUrl,
    ML_API_TIMEOUT: int(300, 1),
    ML_API_VERSION: z.enum(['v1.0', 'v1.1']).default('v1.1'),
    ML_DISPATCH_MAX_ATTEMPTS: int(5, 1),
    ML_DISPATCH_BACKOFF_MS: int(5000, 1),
    ML_MAX_CONCURRENT_JOBS: int(10, 1),
    ML_JOB_TIMEOUT: int(1800, 1),
    ML_MAX_PROCESSING_TIME: int(1800, 1),

    AWS_ACCESS_KEY_ID: z.string().optional(),
    AWS_SECRET_ACCESS_KEY: z.string().optional(),
    AWS_REGION: z.string().default('ap-northeast-2'),
    S3_BUCKET_NAME: z.string().optional(),
    S3_ENDPOINT: optionalUrl,
    S3_FORCE_PATH_STYLE: bool.optional(),
    S3_PRESIGNED_URL_EXPIRE: int(3600, 1),
    MAX_UPLOAD_BYTES: int(2 * 1024 ** 3, 1),

    WEBHOOK_SECRET: z.string().min(1).optional(),
    webhook_secret_key: z.string().min(1).optional(),
    SECRET_KEY: z.string().min(1).optional(),
    ALLOW_UNSIGNED_CALLBACKS: bool.default(false),

    JWT_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    JWT_ISSUER: z.string().min(1).optional(),
    JWT_AUDIENCE: z.string().min(1).optional(),
    API_TOKENS: list,
    ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    CORS_ORIGINS: list,
    RATE_LIMIT_PER_MINUTE: int(5, 0),

    UPLOAD_URLS_PER_HOUR: int(30, 0),
    UPLOAD_BYTES_PER_HOUR: int(20 * 1024 ** 3, 0),
    UPLOAD_RETENTION_HOURS: int(24, 0),
    MULTIPART_MAX_AGE_HOURS: int(24, 1),
    /** Consumer webhooks (docs/webhooks.md). */
    CONSUMER_WEBHOOK_SECRET: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be a Standard Webhooks secret: whsec_ followed by base64')
      .refine((v) => {
        const n = Buffer.from(v.slice('whsec_'.length), 'base64').length;
        return n >= 24 && n <= 64;
      }, 'must decode to 24 to 64 bytes (e.g. whsec_ + `openssl rand -base64 32`)')
      .optional(),
    WEBHOOK_ALLOW_PRIVATE: bool.default(false),
    WEBHOOK_TIMEOUT: int(10, 1),
    WEBHOOK_BACKOFF_BASE_MS: int(5000, 1),
    WEBHOOK_BACKOFF_MAX_MS: int(3_600_000, 1),
    WEBHOOK_GIVE_UP_AFTER: int(86_400, 1),
    WEBHOOK_RETENTION_DAYS: int(7, 0),
    WEBHOOK_POLL_INTERVAL_MS: int(1000, 50),
    WEBHOOK_CONCURRENCY: int(8, 1),
    RETENTION_DAYS: int(0, 0),
    RETENTION_DELETE_JOBS: bool.default(false),
    SSE_MAX_STREAMS_PER_CLIENT: int(20, 0),
    SSE_MAX_STREAMS: int(1000, 0),
    SSE_MAX_LIFETIME: int(600, 1),
    ...OPS_ENV,
  })
  .superRefine((env, ctx) => {
    // A v1.0 ML server posts to one configured URL, without the per-job token: its callbacks can only be
    // authenticated by a signature, or accepted unsigned on purpose.
    if (env.ML_API_VERSION === 'v1.0' && !(env.WEBHOOK_SECRET ?? env.webhook_secret_key ?? env.SECRET_KEY) && env.ALLOW_UNSIGNED_CALLBACKS !== true) {
      ctx.addIssue({
        code: 'custom',
        path: ['ML_API_VERSION'],
        message: 'v1.0 ML servers cannot use per-job callback URLs: set WEBHOOK_SECRET (and sign callbacks) or ALLOW_UNSIGNED_CALLBACKS=true',
      });
    }
  })
  .transform((env) => {
    const port = env.PORT;
    return {
      port,
      host: env.HOST,
      publicBaseUrl: env.FASTAPI_BASE_URL ?? `http://localhost:${port}`,
      dataDir: env.DATA_DIR,
      databaseUrl: env.DATABASE_URL,
      databasePoolSize: env.DATABASE_POOL_SIZE,
      logLevel: env.LOG_LEVEL,
      /** Limits of the HTTP server against clients that never finish (docs/limits.md). */
      http: {
        /** The whole header block of a request, from the first byte (or the connection) on. */
        headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT * 1000,
        /** Headers and body of every request but uploads to the embedded storage. */
        requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT * 1000,
        /** An idle kept-alive connection between two requests. */
        keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT * 1000,
        /** A connection on which nothing moves either way; above the event streams' 15 s keep-alive. */
        idleTimeoutMs: env.HTTP_IDLE_TIMEOUT * 1000,
        maxConnections: env.HTTP_MAX_CONNECTIONS,
        /** An upload to the embedded storage that sends no byte for this long is dropped. */
        uploadIdleTimeoutMs: env.UPLOAD_IDLE_TIMEOUT * 1000,
      },
      ml: {
        /** Unset: `npm start` runs the reference ML server beside the backend. */
        baseUrl: env.MODEL_SERVER_URL ?? env.ml_api_server_url,
        timeoutMs: env.ML_API_TIMEOUT * 1000,
        apiVersion: env.ML_API_VERSION,
        maxAttempts: env.ML_DISPATCH_MAX_ATTEMPTS,
        backoffBaseMs: env.ML_DISPATCH_BACKOFF_MS,
        maxConcurrentJobs: env.ML_MAX_CONCURRENT_JOBS,
        jobTimeoutMs: env.ML_JOB_TIMEOUT * 1000,
        maxProcessingMs: env.ML_MAX_PROCESSING_TIME * 1000,
      },
      storage: {
        bucket: env.S3_BUCKET_NAME,
        region: env.AWS_REGION,
        endpoint: env.S3_ENDPOINT,
        forcePathStyle: env.S3_FORCE_PATH_STYLE ?? env.S3_ENDPOINT !== undefined,
        accessKeyId: env.AWS_ACCESS_KEY_ID,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
        presignExpiresIn: env.S3_PRESIGNED_URL_EXPIRE,
        maxUploadBytes: env.MAX_UPLOAD_BYTES,
      },
      webhooks: {
        secret: env.WEBHOOK_SECRET ?? env.webhook_secret_key ?? env.SECRET_KEY,
        allowUnsigned: env.ALLOW_UNSIGNED_CALLBACKS,
      },
      /** Webhooks to the API's consumers (docs/webhooks.md); unset secret: `webhook_url` is refused. */
      consumerWebhooks: {
        secret: env.CONSUMER_WEBHOOK_SECRET,
        allowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
        timeoutMs: env.WEBHOOK_TIMEOUT * 1000,
        backoffBaseMs: env.WEBHOOK_BACKOFF_BASE_MS,
        backoffMaxMs: env.WEBHOOK_BACKOFF_MAX_MS,
        giveUpAfterMs: env.WEBHOOK_GIVE_UP_AFTER * 1000,
        /** Delivered (and given-up) rows older than this are pruned; 0 keeps them. */
        retentionMs: env.WEBHOOK_RETENTION_DAYS * 86_400_000,
        pollIntervalMs: env.WEBHOOK_POLL_INTERVAL_MS,
        concurrency: env.WEBHOOK_CONCURRENCY,
      },
      auth: {
        jwtSecret: env.JWT_SECRET,
        apiTokens: env.API_TOKENS,
        adminToken: env.ADMIN_TOKEN,
        /** When set, a JWT's `iss` (`aud`) must equal it (contain it); `exp` is always required. */
        jwtIssuer: env.JWT_ISSUER,
        jwtAudience: env.JWT_AUDIENCE,
      },
      corsOrigins: env.CORS_ORIGINS,
      rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
      /** Per client, over a sliding hour; 0 turns a limit off (docs/limits.md). */
      uploads: {
        urlsPerHour: env.UPLOAD_URLS_PER_HOUR,
        /** Declared sizes, or the whole `MAX_UPLOAD_BYTES` for an upload that declares none. */
        bytesPerHour: env.UPLOAD_BYTES_PER_HOUR,
        /** Uploads no job used are deleted after this long; 0 keeps them forever. */
        retentionMs: env.UPLOAD_RETENTION_HOURS * 3_600_000,
        /** Multipart uploads left unfinished this long are aborted and their parts deleted. */
        multipartMaxAgeMs: env.MULTIPART_MAX_AGE_HOURS * 3_600_000,
      },
      /** Finished jobs' videos (and, with `deleteJobs`, the jobs) are deleted this long after they finished; 0 keeps them (docs/my-jobs.md). */
      retention: {
        ms: env.RETENTION_DAYS * 86_400_000,
        deleteJobs: env.RETENTION_DELETE_JOBS,
      },
      /** Server-Sent Events streams (docs/limits.md); a cap of 0 turns it off. */
      streams: {
        perClient: env.SSE_MAX_STREAMS_PER_CLIENT,
        perProcess: env.SSE_MAX_STREAMS,
        maxLifetimeMs: env.SSE_MAX_LIFETIME * 1000,
      },
      ops: opsConfig(env),
    };
  });

export type Config = z.output<typeof schema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment; throws a `ConfigError` listing every problem at once.
 *
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // Empty strings mean "unset" for optional values, as in a .env file with `KEY=`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  return parsed.data;
}
