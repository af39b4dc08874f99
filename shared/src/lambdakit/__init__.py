"""The edge every handler shares: queue deliveries (`sqs`), HTTP routes (`http`), settings, refusals, failure
records and the SNS publisher. Importing this package costs nothing: the authorizer reads its settings here.
"""
