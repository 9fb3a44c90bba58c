/**
 * The operations settings: metrics, trusted proxies, reconciliation of lost completions and the
 * guard against the reference ML server in production (README, configuration; docs/limits.md).
 * `server/config.ts` spreads `OPS_ENV` into its schema and calls `opsConfig`, so they are validated
 * and reported with every other variable.
 */
import ipaddr from 'ipaddr.js';
import { z } from 'zod';

const flag = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A comma-separated list of CIDRs (or single addresses), each checked by ipaddr.js. */
const cidrs = z
  .string()
  .default('')
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
  .superRefine((list, ctx) => {
    for (const entry of list) {
      const ok = entry.includes('/') ? (() => { try { ipaddr.parseCIDR(entry); return true; } catch { return false; } })() : ipaddr.isValid(entry);
      if (!ok) ctx.addIssue({ code: 'custom', message: `"${entry}" is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)` });
    }
  });

export const OPS_ENV = {
  /** Bearer token for GET /metrics; unset: /metrics is open. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Proxies whose X-Forwarded-For is believed when telling clients apart (rate limit). */
  TRUSTED_PROXIES: cidrs,
  /** Seconds of silence after which the backend asks the ML server about a processing job. */
  ML_RECONCILE_AFTER: z.coerce.number().int().min(0).default(120),
  /** With NODE_ENV=production, the reference ML server (made-up transcripts) only on purpose. */
  ALLOW_REFERENCE_ML_SERVER: flag.default(false),
  NODE_ENV: z.string().optional(),
};

/** The parsed operations variables; `server/config.ts` parses them as part of the whole environment. */
export const opsSchema = z.object(OPS_ENV);
type OpsEnv = z.output<typeof opsSchema>;

export interface OpsConfig {
  metricsToken: string | undefined;
  trustedProxies: string[];
  /** 0 disables reconciliation. */
  reconcileAfterMs: number;
  allowReferenceMlServer: boolean;
  production: boolean;
  /** Set by `main.ts` when it runs the reference ML server beside the backend. */
  referenceMlServer: boolean;
}

export function opsConfig(env: OpsEnv): OpsConfig {
  return {
    metricsToken: env.METRICS_TOKEN,
    trustedProxies: env.TRUSTED_PROXIES,
    reconcileAfterMs: env.ML_RECONCILE_AFTER * 1000,
    allowReferenceMlServer: env.ALLOW_REFERENCE_ML_SERVER,
    production: env.NODE_ENV === 'production',
    referenceMlServer: false,
  };
}
