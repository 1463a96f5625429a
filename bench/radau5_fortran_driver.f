C     The Fortran RADAU5 on the problems of bench_radau.c (Robertson to 1e11 with
C     atol = 1e-6 rtol and atol = rtol, Van der Pol mu = 1e3 on [0, 3000], HIRES), rtol
C     1e-2 ... 1e-12 in half decades, initial step 1e-6: error (as bench_radau.c), CPU
C     ms per solve (at least 50 ms of repeated solves), IWORK's steps, rejections,
C     Jacobians, decompositions and linear solves. The counts are the oracle of
C     tests/test_radau.c test_work_matches_fortran_radau5.
C     Not built by CMake: Hairer's sources are fetched, never committed. Built with the
C     radau5.f, decsol.f, dc_decsol.f of github.com/cpmech/hwode (RADAU5 with one extra
C     DEBUG argument after IOUT; for the original signature drop DBG from the calls):
C       gfortran -O2 -std=legacy -ffixed-line-length-none radau5_fortran_driver.f \
C                radau5.f decsol.f dc_decsol.f -o radau5_driver && ./radau5_driver
      PROGRAM DRV
      IMPLICIT REAL*8 (A-H,O-Z)
      PARAMETER (ND=8,LWORK=4*ND*ND+12*ND+20,LIWORK=3*ND+20)
      DIMENSION Y(ND),WORK(LWORK),IWORK(LIWORK),RPAR(1),IPAR(1)
      DIMENSION REF(ND)
      EXTERNAL FROB,JROB,FVDP,JVDP,FHIR,JHIR,SOLOUT
      CHARACTER*8 NAME
      LOGICAL DBG
      COMMON /REFS/ REF
      DO IP=1,4
       DO K=0,20
        RT=10.0D0**(-2.0D0-0.5D0*K)
        NREP=0
        T0=0
        CALL CPU_TIME(T0)
  10    CONTINUE
        DO I=1,20
          IWORK(I)=0
          WORK(I)=0.D0
        END DO
        X=0.0D0
        H=1.0D-6
        ITOL=0
        IJAC=1
        MLJ=8
        MUJ=0
        IMAS=0
        MLM=0
        MUM=0
        IOUT=0
        DBG=.FALSE.
        RTOL=RT
        IF (IP.EQ.1) THEN
          NAME='rob1e-6 '
          N=3
          MLJ=N
          Y(1)=1.D0
          Y(2)=0.D0
          Y(3)=0.D0
          XEND=1.D11
          ATOL=1.D-6*RT
          CALL RADAU5(N,FROB,X,Y,XEND,H,RTOL,ATOL,ITOL,JROB,IJAC,MLJ,MUJ,
     &      FROB,IMAS,MLM,MUM,SOLOUT,IOUT,DBG,WORK,LWORK,IWORK,LIWORK,
     &      RPAR,IPAR,IDID)
          REF(1)=0.2083340149701255D-07
          REF(2)=0.8333360770334713D-13
          REF(3)=0.9999999791665050D0
        ELSE IF (IP.EQ.2) THEN
          NAME='rob=rtol'
          N=3
          MLJ=N
          Y(1)=1.D0
          Y(2)=0.D0
          Y(3)=0.D0
          XEND=1.D11
          ATOL=RT
          CALL RADAU5(N,FROB,X,Y,XEND,H,RTOL,ATOL,ITOL,JROB,IJAC,MLJ,MUJ,
     &      FROB,IMAS,MLM,MUM,SOLOUT,IOUT,DBG,WORK,LWORK,IWORK,LIWORK,
     &      RPAR,IPAR,IDID)
          REF(1)=0.2083340149701255D-07
          REF(2)=0.8333360770334713D-13
          REF(3)=0.9999999791665050D0
        ELSE IF (IP.EQ.3) THEN
          NAME='vdp     '
          N=2
          MLJ=N
          Y(1)=2.D0
          Y(2)=0.D0
          XEND=3000.D0
          ATOL=RT
          CALL RADAU5(N,FVDP,X,Y,XEND,H,RTOL,ATOL,ITOL,JVDP,IJAC,MLJ,MUJ,
     &      FVDP,IMAS,MLM,MUM,SOLOUT,IOUT,DBG,WORK,LWORK,IWORK,LIWORK,
     &      RPAR,IPAR,IDID)
          REF(1)=-1.51060693674425D0
          REF(2)=0.00117838000072825D0
        ELSE
          NAME='hires   '
          N=8
          MLJ=N
          DO I=1,8
            Y(I)=0.D0
          END DO
          Y(1)=1.D0
          Y(8)=0.0057D0
          XEND=321.8122D0
          ATOL=RT
          CALL RADAU5(N,FHIR,X,Y,XEND,H,RTOL,ATOL,ITOL,JHIR,IJAC,MLJ,MUJ,
     &      FHIR,IMAS,MLM,MUM,SOLOUT,IOUT,DBG,WORK,LWORK,IWORK,LIWORK,
     &      RPAR,IPAR,IDID)
          REF(1)=0.7371312573325668D-3
          REF(2)=0.1442485726316185D-3
          REF(3)=0.5888729740967575D-4
          REF(4)=0.1175651343283149D-2
          REF(5)=0.2386356198831331D-2
          REF(6)=0.6238968252742796D-2
          REF(7)=0.2849998395185769D-2
          REF(8)=0.2850001604814231D-2
        END IF
        NREP=NREP+1
        CALL CPU_TIME(T1)
        IF (T1-T0.LT.0.05D0.AND.IDID.GT.0) GOTO 10
        ERR=0.D0
        DO I=1,N
          ERR=MAX(ERR,ABS(Y(I)-REF(I))/(ABS(REF(I))+1.D0))
        END DO
        WRITE(6,99) NAME,RT,IDID,ERR,1D3*(T1-T0)/NREP,IWORK(16),
     &    IWORK(18),IWORK(15),IWORK(19),IWORK(20)
 99     FORMAT(A8,' rtol ',ES8.1,' idid ',I3,' err ',ES9.2,' ms ',
     &    F9.4,' steps ',I6,' rej ',I5,' jac ',I5,' dec ',I6,' sol ',I6)
       END DO
      END DO
      END
      SUBROUTINE SOLOUT (NR,XOLD,X,Y,CONT,LRC,N,RPAR,IPAR,IRTRN)
      IMPLICIT REAL*8 (A-H,O-Z)
      DIMENSION Y(N),CONT(LRC)
      RETURN
      END
      SUBROUTINE FROB(N,X,Y,F,RPAR,IPAR)
      IMPLICIT REAL*8 (A-H,O-Z)
      DIMENSION Y(N),F(N)
      F(1)=-0.04D0*Y(1)+1.D4*Y(2)*Y(3)
      F(3)=3.D7*Y(2)*Y(2)
      F(2)=-F(1)-F(3)
      RETURN
      END
      SUBROUTINE JROB(N,X,Y,DFY,LDFY,RPAR,IPAR)
      IMPLICIT REAL*8 (A-H,O-Z)
      DIMENSION Y(N),DFY(LDFY,N)
      DFY(1,1)=-0.04D0
      DFY(1,2)=1.D4*Y(3)
      DFY(1,3)=1.D4*Y(2)
      DFY(2,1)=0.04D0
      DFY(2,2)=-1.D4*Y(3)-6.D7*Y(2)
      DFY(2,3)=-1.D4*Y(2)
      DFY(3,1)=0.D0
      DFY(3,2)=6.D7*Y(2)
      DFY(3,3)=0.D0
      RETURN
      END
      SUBROUTINE FVDP(N,X,Y,F,RPAR,IPAR)
      IMPLICIT REAL*8 (A-H,O-Z)
      DIMENSION Y(N),F(N)
      F(1)=Y(2)
      F(2)=1.D3*(1.D0-Y(1)*Y(1))*Y(2)-Y(1)
      RETURN
      END
      SUBROUTINE JVDP(N,X,Y,DFY,LDFY,RPAR,IPAR)
      IMPLICIT REAL*8 (A-H,O-Z)
      DIMENSION Y(N),DFY(LDFY,N)
      DFY(1,1)=0.D0
      DFY(1,2)=1.D0
      DFY(2,1)=-2.D3*Y(1)*Y(2)-1.D0
      DFY(2,2)=1.D3*(1.D0-Y(1)*Y(1))
      RETURN
      END
      SUBROUTINE FHIR(N,X,Y,F,RPAR,IPAR)
      IMPLICIT REAL*8 (A-H,O-Z)
      DIMENSION Y(N),F(N)
      F(1)=-1.71D0*Y(1)+0.43D0*Y(2)+8.32D0*Y(3)+0.0007D0
      F(2)=1.71D0*Y(1)-8.75D0*Y(2)
      F(3)=-10.03D0*Y(3)+0.43D0*Y(4)+0.035D0*Y(5)
      F(4)=8.32D0*Y(2)+1.71D0*Y(3)-1.12D0*Y(4)
      F(5)=-1.745D0*Y(5)+0.43D0*Y(6)+0.43D0*Y(7)
      F(6)=-280.D0*Y(6)*Y(8)+0.69D0*Y(4)+1.71D0*Y(5)-0.43D0*Y(6)
     &     +0.69D0*Y(7)
      F(7)=280.D0*Y(6)*Y(8)-1.81D0*Y(7)
      F(8)=-F(7)
      RETURN
      END
      SUBROUTINE JHIR(N,X,Y,DFY,LDFY,RPAR,IPAR)
      IMPLICIT REAL*8 (A-H,O-Z)
      DIMENSION Y(N),DFY(LDFY,N)
      DO J=1,N
        DO I=1,N
          DFY(I,J)=0.D0
        END DO
      END DO
      DFY(1,1)=-1.71D0
      DFY(1,2)=0.43D0
      DFY(1,3)=8.32D0
      DFY(2,1)=1.71D0
      DFY(2,2)=-8.75D0
      DFY(3,3)=-10.03D0
      DFY(3,4)=0.43D0
      DFY(3,5)=0.035D0
      DFY(4,2)=8.32D0
      DFY(4,3)=1.71D0
      DFY(4,4)=-1.12D0
      DFY(5,5)=-1.745D0
      DFY(5,6)=0.43D0
      DFY(5,7)=0.43D0
      DFY(6,4)=0.69D0
      DFY(6,5)=1.71D0
      DFY(6,6)=-0.43D0-280.D0*Y(8)
      DFY(6,7)=0.69D0
      DFY(6,8)=-280.D0*Y(6)
      DFY(7,6)=280.D0*Y(8)
      DFY(7,7)=-1.81D0
      DFY(7,8)=280.D0*Y(6)
      DFY(8,6)=-280.D0*Y(8)
      DFY(8,7)=1.81D0
      DFY(8,8)=-280.D0*Y(6)
      RETURN
      END
