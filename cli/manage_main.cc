// shareplane-manage: database and seeding commands for operators.
#include <iostream>

#include "cli/manage.h"
#include "common/core/log.h"

int main(int argc, char** argv) {
  shareplane::SetLogProgramName("shareplane-manage");
  return shareplane::RunManage(std::vector<std::string>(argv + 1, argv + argc),
                               std::cout, std::cerr);
}
