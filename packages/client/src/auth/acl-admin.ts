import {
  type AclBinding,
  type AclBindingInput,
  type AclFilter,
  AclFilterSchema,
  parseAclBinding,
} from '@strand/auth';
import { InvalidRequestError } from '@strand/wire';

type WireAcl = {
  resource_type: string;
  pattern_type: string;
  name: string;
  principal: string;
  host: string;
  operation: string;
  permission: string;
};

const out = (b: AclFilter): WireAcl => ({
  resource_type: b.resourceType ?? '',
  pattern_type: b.patternType ?? '',
  name: b.name ?? '',
  principal: b.principal ?? '',
  host: b.host ?? '',
  operation: b.operation ?? '',
  permission: b.permission ?? '',
});

const bindingIn = (w: WireAcl): AclBinding =>
  parseAclBinding({
    resourceType: w.resource_type,
    patternType: w.pattern_type,
    name: w.name,
    principal: w.principal,
    host: w.host,
    operation: w.operation,
    permission: w.permission,
  });

function checkFilter(filter: AclFilter): AclFilter {
  const r = AclFilterSchema.safeParse(filter);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  throw new InvalidRequestError(`invalid ACL filter: ${i?.path.join('.')}: ${i?.message}`);
}

/** What calls the coordinators' Security service on their leader (the SDK's, a broker's). */
export interface SecurityCaller {
  call<T>(method: string, req: unknown): Promise<T>;
}

/**
 * ACLs, managed on the coordinators' leader (alter on the cluster to change them, describe
 * to list them). Bindings are checked here first, so a bad one fails before any call. The
 * SDK's Admin and the brokers' Kafka ACL APIs both go through it.
 */
export class AclAdmin {
  constructor(private readonly client: SecurityCaller) {}

  async create(bindings: readonly AclBindingInput[]): Promise<AclBinding[]> {
    const acls = bindings.map(parseAclBinding).map(out);
    const r = await this.client.call<{ acls: WireAcl[] }>('CreateAcls', { acls });
    return r.acls.map(bindingIn);
  }

  async describe(filter: AclFilter = {}): Promise<AclBinding[]> {
    const r = await this.client.call<{ acls: WireAcl[] }>('DescribeAcls', out(checkFilter(filter)));
    return r.acls.map(bindingIn);
  }

  async delete(filter: AclFilter): Promise<AclBinding[]> {
    const r = await this.client.call<{ acls: WireAcl[] }>('DeleteAcls', out(checkFilter(filter)));
    return r.acls.map(bindingIn);
  }
}
