"""Entry point the Pulumi language host runs for a real preview or update."""

from regional_stack.program import main

main()
