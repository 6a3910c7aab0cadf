"""Everything that talks to AWS: shared boto3 clients, S3 reading, every Bedrock control-plane
call with its errors classified, and the run registry in DynamoDB."""
