"""Identity test rig: synthetic evidence with truth (`synthetic`) and pairwise scores (`evaluate`)."""
