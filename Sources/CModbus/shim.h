#ifndef ENERGY_MONITOR_CMODBUS_SHIM_H
#define ENERGY_MONITOR_CMODBUS_SHIM_H
#include <modbus/modbus.h>
#endif
