{#- Published unchanged from the identity stitching step (contracts §5.3). -#}
{{ published_identity_table('identity_merges') }}
