import sys

from insights.cli.main import main

sys.exit(main())
