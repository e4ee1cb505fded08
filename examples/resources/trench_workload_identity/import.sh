# An identity is imported by its user-assigned identity id; its federated
# credentials and role assignments come with it.
terraform import trench_workload_identity.catalog /subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.ManagedIdentity/userAssignedIdentities/trench-catalog-api-id-dev
