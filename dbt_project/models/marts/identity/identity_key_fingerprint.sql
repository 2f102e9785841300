{#- Published unchanged from the identity step (contracts §5.3): which key, if any, the
    pseudonymised identifier values of this warehouse were made with. -#}
{{ published_identity_table('identity_key_fingerprint') }}
