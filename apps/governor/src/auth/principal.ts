/** Who is calling: a named admin token, or (self-service) a tenant key. */
export type Principal = { kind: 'admin'; tokenId: string; name: string } | { kind: 'tenant'; keyId: string; tenantId: string; tenantName: string };

/** How the ledger and the audit name an actor: `admin:<token name>` or `tenant:<tenant>/<key id>`. */
export function actorOf(principal: Principal): string {
  return principal.kind === 'admin' ? `admin:${principal.name}` : `tenant:${principal.tenantName}/${principal.keyId}`;
}
