"""The gRPC gateway: API servicers, interceptors, invokers (embedded ledger, Fabric Gateway), entry points."""
