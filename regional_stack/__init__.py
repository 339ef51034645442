"""The Pulumi program that every region runs.

It reads its stack config and declares resources, nothing more: it imports
nothing of rollout's command line, orchestrator or checks.
"""
