"""The REST API in front of the API handler: two routes, one stage, a usage plan."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from regional_stack.component import Component

STAGE = "live"


@dataclass(frozen=True)
class Route:
    label: str
    method: str
    # The path as API Gateway's ARNs write it: a path parameter becomes "*".
    arn_path: str


POST_ITEMS = Route("post-items", "POST", "items")
GET_ITEM = Route("get-item", "GET", "items/*")
ROUTES = (POST_ITEMS, GET_ITEM)


@dataclass(frozen=True)
class ApiArgs:
    api_name: str
    usage_plan_name: str
    function: aws.lambda_.Function
    throttle_rate: float = 100
    throttle_burst: int = 200


class Api(Component):
    def __init__(
        self,
        name: str,
        args: ApiArgs,
        provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("rollout:api:Api", name, provider, opts)
        self.rest_api = aws.apigateway.RestApi(
            name,
            name=args.api_name,
            endpoint_configuration={"types": "REGIONAL"},
            opts=self.child(),
        )
        items = aws.apigateway.Resource(
            f"{name}-items",
            rest_api=self.rest_api.id,
            parent_id=self.rest_api.root_resource_id,
            path_part="items",
            opts=self.child(),
        )
        item = aws.apigateway.Resource(
            f"{name}-item",
            rest_api=self.rest_api.id,
            parent_id=items.id,
            path_part="{id}",
            opts=self.child(),
        )

        methods: list[aws.apigateway.Method] = []
        integrations: list[aws.apigateway.Integration] = []
        for resource, route in ((items, POST_ITEMS), (item, GET_ITEM)):
            method = aws.apigateway.Method(
                f"{name}-{route.label}",
                rest_api=self.rest_api.id,
                resource_id=resource.id,
                http_method=route.method,
                authorization="NONE",
                request_parameters=(
                    {"method.request.path.id": True} if resource is item else None
                ),
                opts=self.child(),
            )
            # Lambda proxy integrations are always called with POST.
            integration = aws.apigateway.Integration(
                f"{name}-{route.label}",
                rest_api=self.rest_api.id,
                resource_id=resource.id,
                http_method=method.http_method,
                type="AWS_PROXY",
                integration_http_method="POST",
                uri=args.function.invoke_arn,
                opts=self.child(),
            )
            methods.append(method)
            integrations.append(integration)

        # A deployment is a snapshot: it must be replaced whenever a method or
        # integration changes, and created only after all of them exist.
        fingerprint = pulumi.Output.all(
            *[m.id for m in methods],
            *[m.http_method for m in methods],
            *[i.id for i in integrations],
            *[i.uri for i in integrations],
            *[i.type for i in integrations],
        ).apply(
            lambda values: hashlib.sha256(
                json.dumps(values, sort_keys=True).encode()
            ).hexdigest()
        )
        deployment = aws.apigateway.Deployment(
            name,
            rest_api=self.rest_api.id,
            triggers={"redeployment": fingerprint},
            opts=self.child(depends_on=[*methods, *integrations]),
        )
        self.stage = aws.apigateway.Stage(
            name,
            rest_api=self.rest_api.id,
            deployment=deployment.id,
            stage_name=STAGE,
            xray_tracing_enabled=True,
            opts=self.child(),
        )
        aws.apigateway.UsagePlan(
            f"{name}-usage",
            name=args.usage_plan_name,
            api_stages=[{"api_id": self.rest_api.id, "stage": self.stage.stage_name}],
            throttle_settings={
                "rate_limit": args.throttle_rate,
                "burst_limit": args.throttle_burst,
            },
            opts=self.child(),
        )

        self.permissions = [
            aws.lambda_.Permission(
                f"{name}-invoke-{route.label}",
                action="lambda:InvokeFunction",
                function=args.function.name,
                principal="apigateway.amazonaws.com",
                source_arn=pulumi.Output.concat(
                    self.rest_api.execution_arn,
                    f"/{STAGE}/{route.method}/{route.arn_path}",
                ),
                opts=self.child(),
            )
            for route in ROUTES
        ]
        self.invoke_url = self.stage.invoke_url
        self.register_outputs({"invokeUrl": self.invoke_url})
