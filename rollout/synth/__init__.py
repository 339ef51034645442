"""Offline synthesis: run the Pulumi program in process against Pulumi's mocks.

A plan needs no credentials and no Pulumi CLI. Values only AWS can know are
filled with values of the real shape (see :mod:`rollout.synth.cloud`), so that
strings built from them, such as policy documents and source ARNs, can be read
and checked.
"""
