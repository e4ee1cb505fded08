# A spoke is imported by its VNet id; the hub is found through its peering.
terraform import trench_spoke.aks /subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-aks-dev/providers/Microsoft.Network/virtualNetworks/trench-aks-vnet-dev
