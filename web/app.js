"use strict"; /* placeholder */
