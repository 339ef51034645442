"""Wiring rules: S3 notifications, API permissions, integrations, deployments."""

from __future__ import annotations

from collections.abc import Iterator

from rollout.checks.base import Graph, Verdict, display, is_known, rule, value
from rollout.checks.storage import BUCKETS, bucket_name
from rollout.synth.model import PlannedResource

FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
REST_API = "aws:apigateway/restApi:RestApi"
API_RESOURCE = "aws:apigateway/resource:Resource"
METHOD = "aws:apigateway/method:Method"
INTEGRATION = "aws:apigateway/integration:Integration"
DEPLOYMENT = "aws:apigateway/deployment:Deployment"
STAGE = "aws:apigateway/stage:Stage"
ACCOUNT = "aws:apigateway/account:Account"


def function_of(graph: Graph, reference) -> PlannedResource | None:
    """The function a permission, notification or integration names."""
    found = graph.find(reference, FUNCTION)
    if found is None and isinstance(reference, str) and ":function:" in reference:
        # A qualified ARN (…:function:name:alias) names the same function.
        base = ":".join(reference.split(":")[:7])
        found = graph.find(base, FUNCTION)
    return found


def notified_functions(graph: Graph) -> list[tuple[PlannedResource, PlannedResource]]:
    """(notification, function) for every Lambda target of an S3 notification."""
    pairs = []
    for notification in graph.of_type(NOTIFICATION):
        for target in notification.inputs.get("lambdaFunctions") or []:
            function = function_of(graph, target.get("lambdaFunctionArn"))
            if function is not None:
                pairs.append((notification, function))
    return pairs


def proxy_functions(graph: Graph) -> list[tuple[PlannedResource, PlannedResource]]:
    """(integration, function) for every AWS_PROXY integration of a Lambda."""
    pairs = []
    for integration in graph.of_type(INTEGRATION):
        if integration.inputs.get("type") != "AWS_PROXY":
            continue
        uri = str(integration.inputs.get("uri") or "")
        for function in graph.of_type(FUNCTION):
            if uri and uri == value(function, "invokeArn"):
                pairs.append((integration, function))
            elif (
                value(function, "arn")
                and f"/functions/{value(function, 'arn')}/" in uri
            ):
                pairs.append((integration, function))
    return pairs


def _depends(resource: PlannedResource, other: PlannedResource) -> bool:
    return other.urn in resource.depends_on


@rule(
    "wiring.notification-after-permission",
    "error",
    "S3 notifications to a Lambda depend on the permission S3 needs to invoke it.",
)
def notification_after_permission(graph: Graph) -> Iterator[Verdict]:
    for notification, function in notified_functions(graph):
        bucket = graph.find(notification.inputs.get("bucket"), *BUCKETS)
        if bucket is not None:
            bucket_arn = value(bucket, "arn") or f"arn:aws:s3:::{bucket_name(bucket)}"
        else:
            bucket_arn = f"arn:aws:s3:::{notification.inputs.get('bucket')}"
        permissions = [
            p
            for p in graph.of_type(PERMISSION)
            if p.inputs.get("principal") == "s3.amazonaws.com"
            and function_of(graph, p.inputs.get("function")) is function
            and p.inputs.get("sourceArn") == bucket_arn
            and p.inputs.get("action", "lambda:InvokeFunction")
            == "lambda:InvokeFunction"
        ]
        if not permissions:
            yield Verdict(
                notification,
                False,
                f"{display(notification)} invokes {display(function)} but no "
                "permission lets s3.amazonaws.com invoke it from "
                f"{bucket_arn}; add one",
            )
        elif not any(_depends(notification, p) for p in permissions):
            yield Verdict(
                notification,
                False,
                f"{display(notification)} does not depend on "
                f"{display(permissions[0])}; add it to depends_on",
            )
        else:
            yield Verdict(
                notification,
                True,
                f"{display(notification)} comes after the permission for "
                f"{display(function)}",
            )


def rest_api_id(api: PlannedResource) -> str:
    """The API's id, or the one its execution ARN ends with."""
    known = api.id or value(api, "id")
    if known and is_known(known):
        return str(known)
    return str(value(api, "executionArn") or "").rsplit(":", 1)[-1]


def _api_paths(graph: Graph, api: PlannedResource) -> dict[str, str]:
    """Path of every resource id of the API, the root resource as '/'."""
    api_id = rest_api_id(api)
    parts = {
        r.id: (r.inputs.get("parentId"), r.inputs.get("pathPart", ""))
        for r in graph.of_type(API_RESOURCE)
        if r.inputs.get("restApi") == api_id
    }
    paths = {str(value(api, "rootResourceId")): "/"}

    def path_of(resource_id: str, depth: int = 0) -> str | None:
        if resource_id in paths:
            return paths[resource_id]
        if resource_id not in parts or depth > 50:
            return None
        parent, part = parts[resource_id]
        above = path_of(parent, depth + 1)
        if above is None:
            return None
        paths[resource_id] = above.rstrip("/") + "/" + part
        return paths[resource_id]

    for resource_id in parts:
        path_of(resource_id)
    return paths


def _routes(graph: Graph, api: PlannedResource) -> set[tuple[str, str]]:
    """(METHOD, path) of every method of the API, as a source ARN spells them."""
    api_id = rest_api_id(api)
    paths = _api_paths(graph, api)
    routes = set()
    for method in graph.of_type(METHOD):
        if method.inputs.get("restApi") != api_id:
            continue
        verb = str(method.inputs.get("httpMethod", ""))
        path = paths.get(str(method.inputs.get("resourceId")))
        if path is not None:
            routes.add(("*" if verb == "ANY" else verb, path))
    return routes


def _route_matches(route: tuple[str, str], verb: str, path: str) -> bool:
    want_verb, want_path = route
    if verb != want_verb:
        return False
    # Path parameters ({id}, {proxy+}) may be spelled as '*' in a source ARN.
    want = [s for s in want_path.split("/") if s]
    have = [s for s in path.split("/") if s]
    if len(want) != len(have):
        return False
    return all(
        h == w or (h == "*" and w.startswith("{"))
        for w, h in zip(want, have, strict=True)
    )


@rule(
    "wiring.api-permission-source-arn",
    "error",
    "API Gateway permissions name the API's own region, a stage, method and path.",
)
def api_permission_source_arn(graph: Graph) -> Iterator[Verdict]:
    apis = {rest_api_id(a): a for a in graph.of_type(REST_API)}
    stages: dict[str, set[str]] = {}
    for stage in graph.of_type(STAGE):
        stages.setdefault(str(stage.inputs.get("restApi")), set()).add(
            str(stage.inputs.get("stageName"))
        )
    for permission in graph.of_type(PERMISSION):
        if permission.inputs.get("principal") != "apigateway.amazonaws.com":
            continue
        source = permission.inputs.get("sourceArn")
        if not is_known(source):
            continue
        problem = _source_arn_problem(graph, permission, str(source), apis, stages)
        if problem:
            yield Verdict(
                permission,
                False,
                f"{display(permission)} source ARN '{source}' {problem}",
            )
        else:
            yield Verdict(
                permission, True, f"{display(permission)} names one existing route"
            )


def _source_arn_problem(graph, permission, source, apis, stages) -> str | None:
    parts = source.split(":", 5)
    if len(parts) != 6 or parts[2] != "execute-api":
        return "is not an execute-api ARN; use <execution ARN>/<stage>/<METHOD>/<path>"
    region = graph.region_of(permission)
    if parts[3] != region:
        return f"names region {parts[3]}, not {region}; use the API's own region"
    api_id, _, rest = parts[5].partition("/")
    api = apis.get(api_id)
    if api is None:
        return f"names API '{api_id}', which this stack does not hold"
    if graph.region_of(api) != region:
        return f"names an API of {graph.region_of(api)}, not {region}"
    stage, _, rest = rest.partition("/")
    if stage not in stages.get(api_id, set()):
        return f"names stage '{stage}', not one of the API's stages"
    verb, _, path = rest.partition("/")
    path = "/" + path
    routes = _routes(graph, api)
    if not any(_route_matches(r, verb, path) for r in routes):
        known = ", ".join(f"{v} {p}" for v, p in sorted(routes)) or "none"
        return f"names {verb} {path}, not a route of the API ({known})"
    return None


@rule(
    "wiring.proxy-integration",
    "error",
    "AWS_PROXY integrations use POST and the invoke ARN of their own region.",
)
def proxy_integration(graph: Graph) -> Iterator[Verdict]:
    for integration in graph.of_type(INTEGRATION):
        if integration.inputs.get("type") != "AWS_PROXY":
            continue
        uri = integration.inputs.get("uri")
        if not is_known(uri):
            continue
        region = graph.region_of(integration)
        problem = None
        verb = integration.inputs.get("integrationHttpMethod")
        parts = str(uri).split(":")
        if verb != "POST":
            problem = f"uses integrationHttpMethod {verb!r}; Lambda needs POST"
        elif len(parts) < 6 or parts[2] != "apigateway" or parts[4] != "lambda":
            problem = f"uri '{uri}' is not a Lambda invoke ARN"
        elif parts[3] != region:
            problem = f"uri names region {parts[3]}, not its own region {region}"
        elif f":lambda:{region}:" not in str(uri):
            problem = f"uri invokes a function outside {region}"
        if problem:
            yield Verdict(
                integration,
                False,
                f"{display(integration)} {problem}; use the function's invokeArn "
                "and POST",
            )
        else:
            yield Verdict(
                integration,
                True,
                f"{display(integration)} invokes a function of {region} with POST",
            )


@rule(
    "wiring.deployment-triggers",
    "error",
    "REST deployments' triggers are computed from every method and integration.",
)
def deployment_triggers(graph: Graph) -> Iterator[Verdict]:
    for deployment in graph.of_type(DEPLOYMENT):
        api_id = deployment.inputs.get("restApi")
        parts = [
            r
            for r in graph.of_type(METHOD, INTEGRATION)
            if r.inputs.get("restApi") == api_id
        ]
        triggers = deployment.inputs.get("triggers") or {}
        # Pulumi records which resources each input's value was computed from.
        sources = set(deployment.property_dependencies.get("triggers", []))
        missing = [r.name for r in parts if r.urn not in sources]
        if not triggers:
            yield Verdict(
                deployment,
                False,
                f"{display(deployment)} has no triggers; hash every method and "
                "integration into triggers so a change redeploys",
            )
        elif missing:
            yield Verdict(
                deployment,
                False,
                f"{display(deployment)} triggers are not computed from "
                f"{', '.join(sorted(set(missing)))}; hash every method and "
                "integration into them",
            )
        else:
            yield Verdict(
                deployment,
                True,
                f"{display(deployment)} redeploys on its {len(parts)} methods and "
                "integrations",
            )


@rule(
    "wiring.no-apigateway-account",
    "error",
    "No stack owns the account-wide aws.apigateway.Account.",
)
def no_apigateway_account(graph: Graph) -> Iterator[Verdict]:
    for account in graph.of_type(ACCOUNT):
        yield Verdict(
            account,
            False,
            f"{display(account)} sets the account-wide API Gateway settings; "
            "remove it from the stack",
        )
    for api in graph.of_type(REST_API):
        if not graph.of_type(ACCOUNT):
            yield Verdict(
                api, True, f"{display(api)} leaves account settings to the account"
            )


RULES = [
    notification_after_permission,
    api_permission_source_arn,
    proxy_integration,
    deployment_triggers,
    no_apigateway_account,
]
