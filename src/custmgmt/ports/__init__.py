"""What the services need from the outside world, as typing.Protocol classes."""
