import * as grpc from '@grpc/grpc-js';
import { ANONYMOUS, type Check, type Session } from '@strand/auth';
import {
  AuthenticationFailedError,
  AuthorizationFailedError,
  ErrorCode,
  toGrpcError,
} from '@strand/wire';
import { type CallRules, OPEN_CALL, ruleOf } from './call-rules.js';
import { HOST_HEADER, type NodeSecurity, PRINCIPAL_HEADER, peerHost } from './node-security.js';

/** Calls anyone may make: the exchange that authenticates. */
const OPEN = new Set(['/strand.security.v1.Auth/Authenticate']);

/**
 * A server interceptor that finds every call's principal (token, client certificate, or
 * ANONYMOUS) before its handler runs and hands it on in PRINCIPAL_HEADER (and the client's
 * address in HOST_HEADER), whatever the client put there. A bad token is refused; with
 * authentication required so is ANONYMOUS, except for the open calls. A refusal is an
 * UNAUTHENTICATED status: the handler never runs. A call of a user deleted while it lasts (a
 * stream, a watch) ends with UNAUTHENTICATED too.
 *
 * With authentication required, every request is also checked against the ACLs by its
 * method's rule in `rules` before its handler sees it (a method without a rule is refused),
 * answers are cut to what the caller may see, and a call still open when the ACLs change is
 * checked again: one no longer allowed (a watch, a long poll) ends with PERMISSION_DENIED.
 */
export function authInterceptor(security: NodeSecurity, rules: CallRules): grpc.ServerInterceptor {
  return (method, call) => {
    let forget: (() => void) | undefined;
    let stopRechecks: (() => void) | undefined;
    let over = false;
    const end = () => {
      over = true;
      forget?.();
      stopRechecks?.();
    };
    const refuse = (err: unknown) => {
      if (!(err instanceof AuthorizationFailedError))
        security.complain('refused a call', err, {
          method: method.path,
          remote: peerHost(call.getPeer()),
          ...(session ? { principal: session.principal } : {}),
        });
      const status = toGrpcError(err);
      call.sendStatus({ code: status.code, details: status.details, metadata: status.metadata });
    };
    const rule = OPEN.has(method.path) ? OPEN_CALL : ruleOf(rules, method.path);
    let session: Session | undefined;
    let request: unknown;
    const authorize = (message: unknown): boolean => {
      if (!security.guard.enabled || !session || rule?.open || rule?.perMessage) return true;
      if (!rule) {
        const err = new AuthorizationFailedError(
          ErrorCode.ClusterAuthorizationFailed,
          `${method.path} has no authorization rule: refused`,
        );
        security.complain('refused a call', err, {
          method: method.path,
          principal: session.principal,
          remote: session.host,
        });
        end();
        refuse(err);
        return false;
      }
      let checks: Check[];
      try {
        checks = rule.checks?.(message) ?? [];
        security.authorize(session, checks, method.path);
      } catch (err) {
        end();
        refuse(err);
        return false;
      }
      if (checks.length > 0 && !stopRechecks) {
        const who = session;
        stopRechecks = security.onAclsChanged(() => {
          if (over) return;
          try {
            security.authorize(who, checks, `${method.path} (still open)`);
          } catch (err) {
            end();
            refuse(err);
          }
        });
      }
      return true;
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            metadata.remove(PRINCIPAL_HEADER);
            metadata.remove(HOST_HEADER);
            let principal: string;
            try {
              const who = security.principalOf(metadata, call.getAuthContext());
              principal = who.principal;
              if (who.user)
                forget = security.onUserGone(who.user, () => {
                  if (over) return;
                  end();
                  refuse(new AuthenticationFailedError(`user "${who.user}" was deleted`));
                });
              if (principal === ANONYMOUS && security.required && !OPEN.has(method.path))
                throw new AuthenticationFailedError(
                  'this cluster requires authentication: give the client a user (SCRAM or PLAIN) or a client certificate',
                );
            } catch (err) {
              end();
              refuse(err);
              return;
            }
            const host = peerHost(call.getPeer());
            session = { principal, host };
            metadata.set(PRINCIPAL_HEADER, principal);
            metadata.set(HOST_HEADER, host);
            mdNext(metadata);
          },
          onReceiveMessage: (message, msgNext) => {
            if (over) return;
            request ??= message;
            if (authorize(message)) msgNext(message);
          },
          onCancel: end,
        }),
      sendMessage: (message, next) => {
        if (rule?.filter && session && security.guard.enabled) {
          const who = session;
          next(rule.filter(message, request, (c) => security.guard.permits(who, c)));
        } else next(message);
      },
      sendStatus: (status, next) => {
        end();
        next(status);
      },
    });
  };
}
