"""``python -m idp.jpki check CERT.pem …``: the operator command without the ``idp`` script."""

from idp.jpki.cli import jpki

jpki(prog_name="jpki")
