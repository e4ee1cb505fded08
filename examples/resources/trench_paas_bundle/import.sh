# A bundle is imported by its Key Vault id; the other services are found by
# their conventional names. Renamed ones are given after a '?':
#   <vault id>?postgresql_name=my-pg&acr_name=myacr
terraform import trench_paas_bundle.this /subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.KeyVault/vaults/trench-core-kv-dev
