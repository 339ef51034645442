"""Code shared by the API handler and the S3 processor: settings, records, store."""
