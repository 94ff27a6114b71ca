import sys

from custmgmt.cli import main

sys.exit(main())
