"""Demo data for the emulator: user pools, app clients, users, identity pools, bucket, function.

Two Cognito set-ups side by side: the one the `AWS_COGNITO_*` variables name (provider
`default`) and a partner's (provider `partner`), each with its pool, client, demo user and
identity pool, both reaching the same demo bucket and function."""

from __future__ import annotations

import io
import json
import mimetypes
import secrets
import zipfile
from dataclasses import dataclass
from typing import Any

import boto3

from connector.sandbox.aws import DUMMY_CREDENTIAL, REGION

DEMO_USERNAME = "demo"
DEMO_EMAIL = "demo@example.com"
DEMO_BUCKET = "demo-bucket"
DEMO_FUNCTION = "demo-echo"
OAUTH_SCOPES = ("openid", "email", "profile")
DEMO_OBJECTS: dict[str, bytes] = {
    "hello.txt": b"Hello from the connector sandbox!\n",
    "reports/2026/summary.json": b'{"quarter": "Q1", "revenue": 1234, "currency": "EUR"}\n',
    "reports/2026/notes.md": b"# Notes\n\nEverything here lives in moto, in memory.\n",
    "images/README.txt": b"No images yet.\n",
}
_BUCKET_ARN = f"arn:aws:s3:::{DEMO_BUCKET}"
_ECHO_HANDLER = '''"""demo-echo: answers with the event it was invoked with."""


def handler(event, context):
    return event
'''


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    password: str
    email: str
    sub: str


PARTNER = "partner"


@dataclass(frozen=True, slots=True)
class SeededPool:
    """One provider's pools: a user pool with its app client and demo user, an identity pool."""

    user_pool_id: str
    issuer: str
    client_id: str
    client_secret: str
    identity_pool_id: str
    user: DemoUser


@dataclass(frozen=True, slots=True)
class SeededAws:
    """What `seed` created; ids are the emulator's own."""

    user_pool_id: str
    issuer: str
    """The Hosted UI stand-in's issuer for this pool: `<hosted ui url>/<pool id>`."""
    client_id: str
    client_secret: str
    identity_pool_id: str
    user: DemoUser
    bucket: str
    function_name: str
    partner: SeededPool | None = None
    """The second provider's pools, when asked for."""

    @property
    def own_pool(self) -> SeededPool:
        """The `default` provider's pools."""
        return SeededPool(
            user_pool_id=self.user_pool_id,
            issuer=self.issuer,
            client_id=self.client_id,
            client_secret=self.client_secret,
            identity_pool_id=self.identity_pool_id,
            user=self.user,
        )


def seed(
    endpoint_url: str,
    *,
    hosted_ui_url: str,
    callback_url: str,
    partner_hosted_ui_url: str | None = None,
) -> SeededAws:
    """Create the demo resources in the emulator at `endpoint_url`. The identity pool trusts
    the stand-in's issuer (`<hosted_ui_url>/<pool id>`, named without its scheme). With
    `partner_hosted_ui_url`, a second provider's pools too, trusting that domain's issuer."""
    session = boto3.Session(
        aws_access_key_id=DUMMY_CREDENTIAL,
        aws_secret_access_key=DUMMY_CREDENTIAL,
        region_name=REGION,
    )

    # Clients without stubs in the dev dependencies (cognito-idp, iam) are typed Any.
    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint_url)  # type: ignore[call-overload]

    pool_id, client_id, client_secret = _user_pool(client("cognito-idp"), callback_url)
    user = _demo_user(client("cognito-idp"), pool_id)
    issuer = f"{hosted_ui_url}/{pool_id}"
    iam = client("iam")
    identity_pool_id = _identity_pool(
        client("cognito-identity"), iam, provider=issuer.split("://", 1)[1], client_id=client_id
    )
    _bucket(client("s3"))
    _function(client("lambda"), iam)
    partner = None
    if partner_hosted_ui_url is not None:
        partner = _partner(client, iam, partner_hosted_ui_url, callback_url)
    return SeededAws(
        partner=partner,
        user_pool_id=pool_id,
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        identity_pool_id=identity_pool_id,
        user=user,
        bucket=DEMO_BUCKET,
        function_name=DEMO_FUNCTION,
    )


def _partner(client: Any, iam: Any, hosted_ui_url: str, callback_url: str) -> SeededPool:
    """The partner's pools: another user pool (its own demo user, another `sub`), app client
    and identity pool, the same callback URL."""
    name = f"connector-dev-{PARTNER}"
    pool_id, client_id, client_secret = _user_pool(client("cognito-idp"), callback_url, name=name)
    issuer = f"{hosted_ui_url}/{pool_id}"
    identity_pool_id = _identity_pool(
        client("cognito-identity"),
        iam,
        provider=issuer.split("://", 1)[1],
        client_id=client_id,
        name=f"connector_dev_{PARTNER}",
        role=f"{name}-authenticated",
    )
    return SeededPool(
        user_pool_id=pool_id,
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        identity_pool_id=identity_pool_id,
        user=_demo_user(client("cognito-idp"), pool_id),
    )


def _user_pool(idp: Any, callback_url: str, *, name: str = "connector-dev") -> tuple[str, str, str]:
    pool_id: str = idp.create_user_pool(PoolName=name)["UserPool"]["Id"]
    app = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=name,
        GenerateSecret=True,
        CallbackURLs=[callback_url],
        AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=list(OAUTH_SCOPES),
        AllowedOAuthFlowsUserPoolClient=True,
        SupportedIdentityProviders=["COGNITO"],
        ExplicitAuthFlows=["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"],
    )["UserPoolClient"]
    return pool_id, app["ClientId"], app["ClientSecret"]


def _demo_user(idp: Any, pool_id: str) -> DemoUser:
    # Meets Cognito's default policy: upper and lower case, a digit, a symbol, 8+ characters.
    password = f"Demo-{secrets.token_hex(6)}-9"
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=DEMO_USERNAME,
        UserAttributes=[
            {"Name": "email", "Value": DEMO_EMAIL},
            {"Name": "email_verified", "Value": "true"},
        ],
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username=DEMO_USERNAME, Password=password, Permanent=True
    )
    attributes = idp.admin_get_user(UserPoolId=pool_id, Username=DEMO_USERNAME)["UserAttributes"]
    sub = next(a["Value"] for a in attributes if a["Name"] == "sub")
    return DemoUser(username=DEMO_USERNAME, password=password, email=DEMO_EMAIL, sub=sub)


def _identity_pool(
    identity: Any,
    iam: Any,
    *,
    provider: str,
    client_id: str,
    name: str = "connector_dev",
    role: str = "connector-dev-authenticated",
) -> str:
    pool_id: str = identity.create_identity_pool(
        IdentityPoolName=name,
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[
            {"ProviderName": provider, "ClientId": client_id, "ServerSideTokenCheck": False}
        ],
    )["IdentityPoolId"]
    # The trust policy of deploy/iam/identity-pool-role-trust.json (sts:TagSession for the ABAC
    # variant's principal tags); moto stores it, and enforces neither it nor the tags.
    trust = _trust(
        {"Federated": "cognito-identity.amazonaws.com"},
        ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
        condition={
            "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
            "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
        },
    )
    role_arn = _role(iam, role, trust)
    iam.put_role_policy(
        RoleName=role,
        PolicyName="demo-access",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
                    {
                        "Effect": "Allow",
                        "Action": "s3:*",
                        "Resource": [_BUCKET_ARN, f"{_BUCKET_ARN}/*"],
                    },
                    {
                        "Effect": "Allow",
                        "Action": ["lambda:ListFunctions", "lambda:GetFunction*", "lambda:Invoke*"],
                        "Resource": "*",
                    },
                ],
            }
        ),
    )
    if _emulator_sets_pool_roles():
        identity.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"authenticated": role_arn})
    return pool_id


def _emulator_sets_pool_roles() -> bool:
    """moto 5.2.5 answers SetIdentityPoolRoles with a 500 (not implemented) and ignores roles
    when minting credentials; the call is made as soon as a moto release implements it."""
    from moto.cognitoidentity.responses import CognitoIdentityResponse  # noqa: PLC0415

    return hasattr(CognitoIdentityResponse, "set_identity_pool_roles")


def _bucket(s3: Any) -> None:
    s3.create_bucket(Bucket=DEMO_BUCKET)
    for key, body in DEMO_OBJECTS.items():
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        s3.put_object(Bucket=DEMO_BUCKET, Key=key, Body=body, ContentType=content_type)


def _function(lambda_: Any, iam: Any) -> None:
    trust = _trust({"Service": "lambda.amazonaws.com"}, "sts:AssumeRole")
    role_arn = _role(iam, "connector-dev-demo-echo", trust)
    lambda_.create_function(
        FunctionName=DEMO_FUNCTION,
        Runtime="python3.12",
        Role=role_arn,
        Handler="echo.handler",
        Code={"ZipFile": _zip({"echo.py": _ECHO_HANDLER})},
        Description="Echoes the event it is invoked with.",
        Timeout=10,
        MemorySize=128,
    )


def _trust(
    principal: dict[str, str], action: str | list[str], condition: dict[str, Any] | None = None
) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _role(iam: Any, name: str, trust_policy: str) -> str:
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy)["Role"]["Arn"]
    return arn


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()
