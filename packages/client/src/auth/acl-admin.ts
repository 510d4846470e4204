import {
  type AclBinding,
  type AclBindingInput,
  type AclFilter,
  AclFilterSchema,
  parseAclBinding,
} from '@strand/auth';
import { InvalidRequestError } from '@strand/wire';
import type { GroupClient } from '../groups/coordinator-client.js';

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

/**
 * ACLs, managed on the coordinators' leader (alter on the cluster to change them, describe
 * to list them). Bindings are checked here first, so a bad one fails before any call.
 */
export class AclAdmin {
  constructor(private readonly client: GroupClient) {}

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
