"""Random simulation campaigns: priors → jobs → backend → raw shards."""
