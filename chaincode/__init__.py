"""The Fabric chaincode: an external-service shim of our own, the contract and the init function."""
