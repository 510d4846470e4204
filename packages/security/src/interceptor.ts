import * as grpc from '@grpc/grpc-js';
import { ANONYMOUS } from '@strand/auth';
import { AuthenticationFailedError, toGrpcError } from '@strand/wire';
import { type NodeSecurity, PRINCIPAL_HEADER } from './node-security.js';

/** Calls anyone may make: the exchange that authenticates. */
const OPEN = new Set(['/strand.security.v1.Auth/Authenticate']);

/**
 * A server interceptor that finds every call's principal (token, client certificate, or
 * ANONYMOUS) before its handler runs and hands it on in PRINCIPAL_HEADER, whatever the client
 * put there. A bad token is refused; with authentication required so is ANONYMOUS, except for
 * the open calls. A refusal is an UNAUTHENTICATED status: the handler never runs. A call of
 * a user deleted while it lasts (a stream, a watch) ends with UNAUTHENTICATED too.
 */
export function authInterceptor(security: NodeSecurity): grpc.ServerInterceptor {
  return (method, call) => {
    let forget: (() => void) | undefined;
    let over = false;
    const end = () => {
      over = true;
      forget?.();
    };
    const refuse = (err: unknown) => {
      security.complain(`refused a call to ${method.path}`, err);
      const status = toGrpcError(err);
      call.sendStatus({ code: status.code, details: status.details, metadata: status.metadata });
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            metadata.remove(PRINCIPAL_HEADER);
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
            metadata.set(PRINCIPAL_HEADER, principal);
            mdNext(metadata);
          },
          onCancel: end,
        }),
      sendStatus: (status, next) => {
        end();
        next(status);
      },
    });
  };
}
