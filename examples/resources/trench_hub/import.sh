# A hub is imported by its hub VNet id; the firewall, policy, public IP and
# jump host are found from it.
terraform import trench_hub.core /subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.Network/virtualNetworks/trench-core-vnet-dev
