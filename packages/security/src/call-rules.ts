import type { Check } from '@strand/auth';

type May = (check: Check) => boolean;

/**
 * What one gRPC method needs, read by the one interceptor that checks every call (see
 * authInterceptor). Requests arrive decoded (proto-loader's objects, defaults filled in).
 */
export interface CallRule {
  /** The checks a request needs, all of them, before its handler sees it. */
  checks?: (request: unknown) => Check[];
  /** Cuts an answer down to what the caller may see (Metadata's topics, ListGroups' groups). */
  filter?: (response: unknown, request: unknown, may: May) => unknown;
  /** Anyone may call it (the exchange that authenticates, discovery). */
  open?: true;
  /** A stream of requests, or a batch: its handler checks each one (NodeSecurity.authorize). */
  perMessage?: true;
}

/** A rule with its request's (and answer's) shape, as the method's proto message has it. */
export const rule = <Req, Res = unknown>(r: {
  checks?: (request: Req) => Check[];
  filter?: (response: Res, request: Req, may: May) => Res;
}): CallRule => r as CallRule;

export const OPEN_CALL: CallRule = { open: true };
export const CHECKED_PER_MESSAGE: CallRule = { perMessage: true };

/** Rules by service (its full name, `strand.broker.v1.Broker`), then method. */
export type CallRules = Readonly<Record<string, Readonly<Record<string, CallRule>>>>;

/** The rule of `/pkg.Service/Method`; undefined (refused) for a method with none. */
export function ruleOf(rules: CallRules, path: string): CallRule | undefined {
  const [, service, method] = path.split('/');
  return service && method ? rules[service]?.[method] : undefined;
}
