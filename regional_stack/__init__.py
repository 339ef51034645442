"""The Pulumi program that every region runs.

It reads its stack config and declares resources, nothing more: it imports
nothing of rollout's command line, orchestrator or checks.

One module per component, each a ``ComponentResource`` (type token
``rollout:<module>:<Name>``) whose children all use the region's one provider:
``network`` (VPC, subnets, NAT, gateway endpoints, Lambda security group),
``keys`` (a KMS key per data service), ``storage`` (data bucket, upload
notification), ``table`` (an autoscaled DynamoDB table), ``functions`` (roles,
log groups, dead-letter queue, functions), ``api`` (REST API), ``monitoring``
(topic, error-rate alarms), ``artifacts`` (the primary's artifact bucket in
every region and the upload), ``secrets`` (SSM SecureStrings) and ``codebuild``
(the primary's artifact rebuild). ``program`` composes them and lists the
stack's exports.

The functions' environment: ``ITEMS_TABLE``, ``IDEMPOTENCY_TABLE``,
``POWERTOOLS_SERVICE_NAME`` (the function's name), ``POWERTOOLS_LOG_LEVEL``,
``SECRET_PARAMETERS`` (JSON: secret name -> SSM parameter name, ``{}`` when
none) and, on the processor only, ``DATA_BUCKET``.
"""
