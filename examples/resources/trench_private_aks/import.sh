# A cluster is imported by its managed cluster id.
terraform import trench_private_aks.main /subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-aks-dev/providers/Microsoft.ContainerService/managedClusters/trench-aks-cluster-dev
