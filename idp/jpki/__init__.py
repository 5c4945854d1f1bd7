"""idp/jpki."""
