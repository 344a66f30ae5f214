// A real OpenID Connect provider for the tests: panva's certified oidc-provider, with its
// development sign-in pages (any login name signs in; the password is not checked).
// Usage: node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
// The account named at sign-in gets the groups listed in GROUPS below (none if unlisted).
import Provider from "oidc-provider";

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const GROUPS = {
  "ana.planner": ["gis-planners", "staff"],
  "gus.grants": ["grant-office"],
  "pat.parks": ["parks-department"],
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ["authorization_code"],
    response_types: ["code"],
  }],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name"],
    groups: ["groups"],
  },
  scopes: ["openid", "email", "profile", "groups"],
  // The claims go into the ID token, as many city providers (Entra ID, Keycloak) do.
  conformIdTokenClaims: false,
  pkce: { required: () => true, methods: ["S256"] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${id}@city.test`,
          email_verified: true,
          name: id.replace(".", " "),
          groups: GROUPS[id] || [],
        };
      },
    };
  },
  cookies: { keys: ["test-only-cookie-key-0123456789"] },
});
// Plain http on 127.0.0.1 is fine for a test issuer.
provider.proxy = false;

provider.listen(Number(port), "127.0.0.1", () => {
  console.log(`ready ${issuer}`);
});
