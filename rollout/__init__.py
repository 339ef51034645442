"""rollout: take a serverless AWS application to many regions at once, safely."""

__version__ = "0.1.0"
