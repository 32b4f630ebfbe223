// The single translation unit that holds Asio's and Beast's compiled code
// (BOOST_ASIO_SEPARATE_COMPILATION): keeps every other file quick to build.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
